/** @causeway/lighthouse — service discovery: the clusterset DNS server, the export keeper (standalone) and the Kubernetes agent (ServiceExport → broker → ServiceImport). */
export { type ClusterBackend, type DnsSource, type ImportedService, type ServiceEndpoint, type ServicePort, StaticDnsSource } from "./dns/model.ts";
export { type Answer, DNS_SCHEMA_VERSION, hostLabel, type Rcode, Resolver, type ResolverOptions, type Rr } from "./dns/resolver.ts";
export { answerMessage, DnsServer, type DnsServerOptions } from "./dns/server.ts";
export { decodeQuery, encodeResponse, type Query } from "./dns/wire.ts";
export { buildImports, type ExportConflict } from "./imports/build.ts";
export { ServiceExporter, type ServiceExporterDeps, siteServices, tcpOpen } from "./imports/exporter.ts";
export { BrokerDnsSource } from "./imports/source.ts";
export { connectedVia } from "@causeway/common";
