import type { Server } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { protoRoot } from "@vigil/proto";

/** Every .proto file whose services the server registers. */
const SERVED_PROTOS = ["inference/grpc_service.proto", "grpc/health/v1/health.proto", "vigil/v1/feedback.proto"];

/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha), so grpcurl, Postman and Evans list
 * the services and call them without the .proto files. It describes only the public protocol,
 * so it is open like health, even when auth is on.
 */
export function addReflection(server: Pick<Server, "addService">): void {
  // keepCase: the descriptors then carry the .proto's own field names (model_name), which tools show and send as JSON.
  const definition = loadSync(SERVED_PROTOS, { includeDirs: [protoRoot], keepCase: true });
  new ReflectionService(definition).addToServer(server);
}
