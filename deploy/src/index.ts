/** @causeway/deploy — what Causeway applies to clusters (manifests, generated CRDs) and the deploy-broker / join logic. */
export { ApplyInterruptedError, applyManifests, CLI_FIELD_MANAGER, MissingPermissionsError, preflight, renderManifests, waitCrdsEstablished } from "./apply.ts";
export { readBrokerInfo, writeBrokerInfo } from "./brokerinfo.ts";
export { deployBroker, type DeployBrokerOptions, type DeployBrokerResult } from "./broker.ts";
export { type BrokerAddress, brokerAddress, givenAddress, nodePortAddress, parseServiceType, servicePort } from "./brokeraddress.ts";
export { CidrDiscoveryError, discoverClusterCidrs, discoverServiceCidrs } from "./discover.ts";
export { brokerAdmin, DuplicateClusterError, join, type JoinOptions, type JoinResult } from "./join.ts";
export {
  BROKER_ADMIN_SECRET,
  BROKER_NAMESPACE,
  BROKER_PORT,
  BROKER_TLS_SECRET,
  BROKER_NATS_SECRET,
  BROKER_SERVICE_TYPES,
  type BrokerDeployment,
  type BrokerServiceType,
  CONFIG_HASH_ANNOTATION,
  brokerManifests,
  crdManifests,
  IMAGE,
  IMAGE_COMPONENTS,
  type ImageOverrides,
  parseImageOverrides,
  type Manifest,
  type MemberConfig,
  LIGHTHOUSE_DNS_SERVICE,
  LIGHTHOUSE_REPLICAS,
  MEMBER_WORKLOADS,
  memberManifests,
} from "./manifests.ts";
export { type EventObject, type PodObject, podProblems, terminationGist, warningEvents } from "./rollout.ts";
export { CUSTOM_COREDNS_KEY, lighthouseDnsIp, unwireCoreDns, wireCoreDns } from "./coredns.ts";
export { uninstall, type UninstallOptions, type UninstallResult } from "./uninstall.ts";
export { type BrokerPki, makeBrokerPki, pkiCovers } from "./tls.ts";
export { brokerInfoConnection, CREDENTIAL_GENERATION_ANNOTATION, installCredential } from "./credentials.ts";
export { countFiles, gatherApi, gatherKube } from "./gather.ts";
export { bundlePath, dockerfilePackages, IMAGE_BUILT, IMAGE_BUNDLES, IMAGE_PACKAGES, IMAGE_PROGRAMS, IMAGE_SUITE, type ImageBundle } from "./image/contents.ts";
export { fileDigest, type ImageArchive, imageConfig, type ImageSpec, qualifiedRef, reproducibleTar, writeImageArchive } from "./image/oci.ts";
