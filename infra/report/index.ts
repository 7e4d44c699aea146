export * from "./check";
export * from "./text";
