export { CommandFailedError, type CommandResult, type CommandRunner, FakeRunner, NetnsRunner, ProcessRunner, type RunOptions } from "./runner.ts";
