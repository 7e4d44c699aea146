// The contract between the Pulumi program and the policy pack lives in the model
// (infra/model/contract.ts), so that the rules never import from the Pulumi layer; re-exported here
// for the components and the program.
export * from "../model/contract";
