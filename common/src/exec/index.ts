export { CommandFailedError, type CommandResult, type CommandRunner, FakeRunner, ProcessRunner, type RunOptions } from "./runner.ts";
