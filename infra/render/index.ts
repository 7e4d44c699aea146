// Renderers of the files and commands pushed to the servers (pure; see server.ts).
export * from "./calendar";
export * from "./files";
export * from "./notify";
export * from "./paths";
export * from "./repo";
export * from "./server";
export * from "./units";
export * from "./push";
export * from "./binlog";
export * from "./binlog-ship";
export * from "./operators";
