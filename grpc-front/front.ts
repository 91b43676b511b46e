/**
 * The gRPC front: a stateless gRPC server speaking etcd 3.4's API, each call
 * forwarded to the Worker's v3 JSON API (see routes.ts for how each method
 * travels). It keeps no state of its own: a client whose stream breaks
 * reconnects (to this front or another) and resumes from the revision it
 * last saw, as it would with etcd.
 */
import * as grpc from "@grpc/grpc-js";
import { loadServices } from "./protos.ts";
import { ROUTES, type Route } from "./routes.ts";
import { StatusError, WorkerClient } from "./worker-client.ts";

export interface FrontOptions {
  /** The Worker's origin, e.g. http://127.0.0.1:8787 or https://etcd.example.workers.dev. */
  endpoint: string;
  /** Which v3 API of the Worker: the default cluster's, a named cluster's, or v3 discovery's registry. */
  serves: { cluster: string } | { discovery: true } | "default";
  /**
   * The URL clients reach this front at. Members report it as their client
   * URL in Cluster answers (the Worker reports its HTTP URL, where a gRPC
   * client cannot connect), so clients that sync their endpoints from the
   * member list stay on gRPC, as behind `etcd grpc-proxy --advertise-client-url`.
   */
  advertiseClientURL?: string;
}

/** etcd's default --max-request-bytes (1.5 MiB) plus the 512 KiB it allows for gRPC's own framing. */
const MAX_RECEIVE_BYTES = 2 * 1024 * 1024;

export function frontServer(o: FrontOptions): grpc.Server {
  const root = o.serves === "default" ? "" : "cluster" in o.serves ? `/clusters/${encodeURIComponent(o.serves.cluster)}` : "/discovery";
  const worker = new WorkerClient(o.endpoint, root);
  const server = new grpc.Server({ "grpc.max_receive_message_length": MAX_RECEIVE_BYTES, "grpc.max_send_message_length": -1 });
  for (const [name, service] of loadServices()) {
    const routes = ROUTES[name] ?? {};
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const method of Object.keys(service)) {
      const route = routes[method] ?? { kind: "unimplemented", why: `${name}/${method} is not served` };
      const answer = name === "etcdserverpb.Cluster" && o.advertiseClientURL ? withClientURL(o.advertiseClientURL) : (r: object) => r;
      implementation[method] = handler(route, worker, answer);
    }
    server.addService(service, implementation);
  }
  return server;
}

/** Binds `server` to host:port (TLS when `tls` is given) and resolves to the bound port. */
export function listen(server: grpc.Server, address: string, tls?: { cert: Buffer; key: Buffer }): Promise<number> {
  const credentials = tls ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: tls.cert, private_key: tls.key }], false) : grpc.ServerCredentials.createInsecure();
  return new Promise((resolve, reject) => server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port))));
}

type Call = grpc.ServerUnaryCall<object, object> | grpc.ServerWritableStream<object, object> | grpc.ServerDuplexStream<object, object>;

/** Sets every member's client URLs in a Cluster answer to `url`. */
function withClientURL(url: string): (response: object) => object {
  return (response) => {
    const r = response as { member?: { clientURLs?: string[] }; members?: { clientURLs?: string[] }[] };
    for (const m of [...(r.member ? [r.member] : []), ...(r.members ?? [])]) if (m.clientURLs?.length) m.clientURLs = [url];
    return response;
  };
}

function handler(route: Route, worker: WorkerClient, answer: (response: object) => object): grpc.UntypedHandleCall {
  switch (route.kind) {
    case "unary":
      return (call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => {
        withLeader(call, worker)
          .then((headers) => worker.unary(route.path, call.request, headers))
          .then(
            (response) => callback(null, answer(response)),
            (err: unknown) => callback(serviceError(err)),
          );
      };
    case "serverStream":
      return (call: grpc.ServerWritableStream<object, object>) => {
        const abort = new AbortController();
        call.on("cancelled", () => abort.abort());
        (async () => {
          const headers = await withLeader(call, worker);
          for await (const message of worker.lines(route.path, call.request, headers, abort.signal)) call.write(message);
          call.end();
        })().catch((err: unknown) => {
          if (!abort.signal.aborted) call.emit("error", serviceError(err));
        });
      };
    case "bidi":
      return (call: grpc.ServerDuplexStream<object, object>) => bidi(route.path, call, worker);
    case "unimplemented":
      return (call: Call, callback?: grpc.sendUnaryData<object>) => {
        const err = serviceError(new StatusError(grpc.status.UNIMPLEMENTED, `etcd-on-workers: ${route.why}`));
        if (callback) callback(err);
        else call.emit("error", err);
      };
  }
}

/**
 * A bidirectional stream over one WebSocket to the Worker. A watch stream
 * stays open after the client half-closes (etcd keeps sending events); a
 * keep-alive stream ends, as etcd's does, once each request sent has had
 * its answer.
 */
function bidi(path: string, call: grpc.ServerDuplexStream<object, object>, worker: WorkerClient): void {
  const endsWithRequests = path === "lease/keepalive";
  let unanswered = 0;
  let clientDone = false;
  withLeader(call, worker).then(
    (headers) => {
      if (call.cancelled) return;
      const socket = worker.socket(path, headers, {
        onMessage(message) {
          call.write(message);
          unanswered--;
          if (endsWithRequests && clientDone && unanswered <= 0) socket.close();
        },
        onClose(error) {
          if (call.cancelled) return;
          if (error) call.emit("error", serviceError(error));
          else call.end();
        },
      });
      call.on("data", (request: object) => {
        unanswered++;
        socket.send(request);
      });
      call.on("end", () => {
        clientDone = true;
        if (endsWithRequests && unanswered <= 0) socket.close();
      });
      call.on("cancelled", () => socket.close());
    },
    (err: unknown) => call.emit("error", serviceError(err)),
  );
}

/**
 * The Worker request headers for a call's metadata, after the `hasleader`
 * check: a client that sets it (kube-apiserver does, on watches) must get
 * Unavailable rather than wait on a cluster that has no leader.
 */
async function withLeader(call: Call, worker: WorkerClient): Promise<Record<string, string>> {
  const headers: Record<string, string> = {};
  const token = call.metadata.get("token")[0];
  if (token !== undefined) headers.Authorization = String(token);
  if (String(call.metadata.get("hasleader")[0] ?? "") === "true") {
    const s = (await worker.unary("maintenance/status", {}, headers)) as { leader?: string };
    if (!s.leader || s.leader === "0") throw new StatusError(grpc.status.UNAVAILABLE, "etcdserver: no leader");
  }
  return headers;
}

function serviceError(err: unknown): Partial<grpc.StatusObject> & Error {
  if (err instanceof StatusError) return Object.assign(new Error(err.details), { code: err.code, details: err.details });
  console.error("grpc front:", err);
  return Object.assign(new Error(String(err)), { code: grpc.status.INTERNAL, details: `etcd-on-workers: ${String(err)}` });
}
