import { type Endpoint, NatDiscoveryMessage, type NatDiscoveryRequest, type NatDiscoveryResponse, NatResponseType } from "@causeway/api";

/** Protocol version stamped on requests (responses leave it 0, as Submariner's do). */
export const NAT_PROTOCOL_VERSION = 1;
/** Default NAT discovery port (backend_config "natt-discovery-port"). */
export const NAT_DISCOVERY_PORT = 4490;
/** Largest datagram read (Submariner's receive buffer). */
export const MAX_DATAGRAM = 2048;

export interface Observed {
  readonly address: string;
  readonly port: number;
}

/** Decodes a datagram; undefined when it is not a NAT discovery message (never throws). */
export function decodeMessage(buf: Uint8Array): NatDiscoveryMessage | undefined {
  if (buf.length === 0 || buf.length > MAX_DATAGRAM) return undefined;
  try {
    const m = NatDiscoveryMessage.decode(buf);
    return m.message ? m : undefined;
  } catch {
    return undefined;
  }
}

export function encodeRequest(r: NatDiscoveryRequest): Uint8Array {
  return NatDiscoveryMessage.encode({ version: NAT_PROTOCOL_VERSION, message: { $case: "request", value: r } }).finish();
}

export function encodeResponse(r: NatDiscoveryResponse): Uint8Array {
  return NatDiscoveryMessage.encode({ version: 0, message: { $case: "response", value: r } }).finish();
}

/**
 * Pure: the responder's answer to a request seen from `observed` (reference §4.5): MALFORMED
 * when a field is missing, UNKNOWN_DST_* when it is not for this endpoint, NAT_DETECTED when the
 * addresses the sender used differ from what arrived, else OK.
 */
export function answerRequest(local: Endpoint, req: NatDiscoveryRequest, observed: Observed): NatDiscoveryResponse {
  const me = { clusterId: local.cluster_id, endpointId: local.cable_name };
  const base: NatDiscoveryResponse = {
    requestNumber: req.requestNumber,
    response: NatResponseType.OK,
    sender: me,
    receiver: req.sender,
    srcIpNatDetected: false,
    srcPortNatDetected: false,
    dstIpNatDetected: false,
    receivedSrc: { IP: observed.address, port: observed.port },
  };
  if (!req.sender || !req.receiver || !req.usingSrc || !req.usingDst) return { ...base, response: NatResponseType.MALFORMED };
  if (req.receiver.clusterId !== local.cluster_id) return { ...base, response: NatResponseType.UNKNOWN_DST_CLUSTER };
  if (req.receiver.endpointId !== local.cable_name) return { ...base, response: NatResponseType.UNKNOWN_DST_ENDPOINT };
  const srcIpNatDetected = req.usingSrc.IP !== observed.address;
  const srcPortNatDetected = req.usingSrc.port !== observed.port;
  const dstIpNatDetected = req.usingDst.IP !== local.private_ip;
  const nat = srcIpNatDetected || srcPortNatDetected || dstIpNatDetected;
  return { ...base, response: nat ? NatResponseType.NAT_DETECTED : NatResponseType.OK, srcIpNatDetected, srcPortNatDetected, dstIpNatDetected };
}
