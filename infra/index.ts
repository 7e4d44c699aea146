// Entry of the Pulumi program (Pulumi.yaml: main dist/infra/). The engine calls the exported
// function and takes the object it resolves to as the stack's outputs. The program itself is in
// infra/program/ (runFleet / runClient), so that tests can call it under mocks without this entry.
import { main } from "./program/main";

export = () => main();
