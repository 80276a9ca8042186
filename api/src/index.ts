/** @causeway/api — the contract: resource schemas, broker protobuf, typed errors. No I/O. */
export {
  BrokerClient,
  BrokerService,
  type BrokerServer,
  type Record as WireRecord,
  WatchEvent_Type,
  type WatchEvent,
  type LeaseResponse,
} from "./gen/broker.ts";
export {
  CABLE_DRIVERS,
  type CableDriverName,
  CableDriverSchema,
  type Cluster,
  ClusterIdSchema,
  ClusterSchema,
  type Connection,
  CONNECTION_STATUSES,
  cableName,
  type Endpoint,
  EndpointSchema,
  ensureValidName,
  type GatewayStatus,
  GatewayStatusSchema,
  KINDS,
  type Kind,
  KindSchema,
  type Lease,
  LeaseSchema,
  SCHEMAS,
  type ValueOf,
} from "./resources.ts";
export { cidrContains, cidrsOverlap, intToIp, ipToInt, isIPv4, isIPv4Cidr, parseCidr, sameSubnet, withFirstOctet } from "./cidr.ts";
export {
  AlreadyExistsError,
  CausewayError,
  CidrOverlapError,
  CompactedError,
  ConflictError,
  errorMessage,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
  UnavailableError,
  ValidationError,
} from "./errors.ts";
export { fromServiceError, toServiceError } from "./grpc-status.ts";
export { parseValue, formatIssues } from "./validate.ts";
