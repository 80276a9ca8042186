import type { CommandRunner } from "../exec/index.ts";
import { FakeIpSets, IpsetCommand } from "./ipset.ts";
import { FakeNet, IpRoute2Net } from "./net.ts";
import { FakePacketFilter, IptablesPacketFilter } from "./packetfilter.ts";
import type { HostAdapters } from "./reconciler.ts";
import { FakeSysctl, ProcSysctl } from "./sysctl.ts";

/** The real adapters for the current network namespace. */
export function realHostAdapters(runner: CommandRunner): HostAdapters {
  return { net: new IpRoute2Net(runner), filter: new IptablesPacketFilter(runner), sets: new IpsetCommand(runner), sysctl: new ProcSysctl() };
}

export interface FakeHostAdapters extends HostAdapters {
  readonly net: FakeNet;
  readonly filter: FakePacketFilter;
  readonly sets: FakeIpSets;
  readonly sysctl: FakeSysctl;
}

export function fakeHostAdapters(): FakeHostAdapters {
  return { net: new FakeNet(), filter: new FakePacketFilter(), sets: new FakeIpSets(), sysctl: new FakeSysctl() };
}
