import { type CommandRunner, NetnsRunner } from "../exec/index.ts";
import { FakeClustersetNat, NftClustersetNat } from "./clustersetnat.ts";
import { FakeIpSets, IpsetCommand } from "./ipset.ts";
import { FakeNatGuard, NftNatGuard } from "./natguard.ts";
import { FakeNet, IpRoute2Net } from "./net.ts";
import { FakePacketFilter, IptablesPacketFilter } from "./packetfilter.ts";
import type { HostAdapters } from "./reconciler.ts";
import { FakeSysctl, ProcSysctl, RunnerSysctl } from "./sysctl.ts";

/**
 * The real adapters. With a NetnsRunner everything, sysctls included, acts inside that namespace;
 * otherwise on the namespace this process runs in (components run inside their node's).
 */
export function realHostAdapters(runner: CommandRunner): HostAdapters {
  const sysctl = runner instanceof NetnsRunner ? new RunnerSysctl(runner) : new ProcSysctl();
  return {
    net: new IpRoute2Net(runner),
    filter: new IptablesPacketFilter(runner),
    sets: new IpsetCommand(runner),
    sysctl,
    natGuard: new NftNatGuard(runner),
    clustersetNat: new NftClustersetNat(runner),
  };
}

export interface FakeHostAdapters extends HostAdapters {
  readonly net: FakeNet;
  readonly filter: FakePacketFilter;
  readonly sets: FakeIpSets;
  readonly sysctl: FakeSysctl;
  readonly natGuard: FakeNatGuard;
  readonly clustersetNat: FakeClustersetNat;
}

export function fakeHostAdapters(): FakeHostAdapters {
  return {
    net: new FakeNet(),
    filter: new FakePacketFilter(),
    sets: new FakeIpSets(),
    sysctl: new FakeSysctl(),
    natGuard: new FakeNatGuard(),
    clustersetNat: new FakeClustersetNat(),
  };
}
