/**
 * @causeway/api/grpc — the broker's gRPC service and the gRPC status mapping: what only programs
 * that talk to the broker over gRPC need. Apart from the main entry point, so that the others
 * (the route agent in Kubernetes mode) never load grpc-js.
 */
export { BrokerClient, BrokerService, WatchEvent_Type } from "./gen/broker.ts";
export { fromServiceError, toServiceError } from "./grpc-status.ts";
