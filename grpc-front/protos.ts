/**
 * etcd 3.4's gRPC services, loaded from this repository's .proto files. The
 * loader's options make a decoded message the same object etcd's JSON
 * gateway reads (proto field names, 64-bit integers as decimal strings,
 * bytes as base64, enums by name, unset fields absent), and let an answer
 * in that JSON be encoded as it is.
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as protoLoader from "@grpc/proto-loader";

const PROTO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "proto");

const FILES = ["etcdserverpb/rpc.proto", "v3lockpb/v3lock.proto", "v3electionpb/v3election.proto"];

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  bytes: String,
  defaults: false,
  oneofs: false,
  includeDirs: [PROTO_ROOT],
};

/** Every service of etcd's API, by full name ("etcdserverpb.KV"), with its methods. */
export function loadServices(): Map<string, protoLoader.ServiceDefinition> {
  const definitions = protoLoader.loadSync(FILES, LOADER_OPTIONS);
  const services = new Map<string, protoLoader.ServiceDefinition>();
  for (const [name, d] of Object.entries(definitions)) {
    // Messages and enums carry a `format`; services are maps of methods.
    if (!("format" in d)) services.set(name, d as protoLoader.ServiceDefinition);
  }
  return services;
}
