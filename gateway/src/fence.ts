import { CausewayError } from "@causeway/api";
import type { view } from "@causeway/common";
import type { CableDriver } from "./cable/driver.ts";

export class FencedError extends CausewayError {
  override name = "FencedError";
}

/**
 * Cuts an engine off at the moment its gateway stops leading. Broker writes still in flight
 * (hung on an unreachable broker) are abandoned at once — their promises reject, so the engine
 * stops without waiting out a call deadline — and no new write or cable sync starts. A cable
 * sync already running (local, bounded by command timeouts) is let finish, so nothing races
 * the cleanup that follows.
 */
export class Fence {
  #raised = false;
  #break: (err: Error) => void = () => undefined;
  readonly #broken: Promise<never>;

  constructor() {
    this.#broken = new Promise<never>((_, reject) => {
      this.#break = reject;
    });
    this.#broken.catch(() => undefined);
  }

  get raised(): boolean {
    return this.#raised;
  }

  raise(): void {
    if (this.#raised) return;
    this.#raised = true;
    this.#break(new FencedError("this gateway no longer leads: write abandoned"));
  }

  #guard<T>(call: () => Promise<T>): Promise<T> {
    if (this.#raised) return Promise.reject(new FencedError("this gateway no longer leads: write refused"));
    return Promise.race([call(), this.#broken]);
  }

  /** `inner`, its writes abandoned or refused once the fence is raised. */
  sink(inner: view.GatewaySink): view.GatewaySink {
    return {
      putEndpoint: (ep) => this.#guard(() => inner.putEndpoint(ep)),
      deleteEndpoint: (ep) => this.#guard(() => inner.deleteEndpoint(ep)),
      putStatus: (node, st) => this.#guard(() => inner.putStatus(node, st)),
      deleteStatus: (node) => this.#guard(() => inner.deleteStatus(node)),
    };
  }

  /** `inner`, whose sync is refused once the fence is raised (a running one finishes). */
  driver(inner: CableDriver): CableDriver {
    return {
      name: inner.name,
      sync: (local, remotes) =>
        this.#raised ? Promise.reject(new FencedError("this gateway no longer leads: cable sync refused")) : inner.sync(local, remotes),
      cleanup: () => inner.cleanup(),
      removeDevice: () => inner.removeDevice(),
      ...(inner.preflight ? { preflight: () => inner.preflight?.() } : {}),
      ...(inner.backendConfig ? { backendConfig: () => inner.backendConfig?.() ?? {} } : {}),
      ...(inner.traffic
        ? { traffic: (remotes: Parameters<NonNullable<CableDriver["traffic"]>>[0]) => inner.traffic?.(remotes) ?? Promise.resolve(new Map()) }
        : {}),
      ...(inner.deviceTraffic ? { deviceTraffic: (sysNet?: string) => inner.deviceTraffic?.(sysNet) ?? Promise.resolve({ rxBytes: 0, txBytes: 0 }) } : {}),
      ...(inner.adopt ? { adopt: () => inner.adopt?.() ?? Promise.resolve(false) } : {}),
      ...(inner.installedRemotes ? { installedRemotes: () => inner.installedRemotes?.() ?? Promise.resolve(new Set<string>()) } : {}),
    };
  }
}
