/**
 * The gateway JSON of etcd's Lease service, with the building blocks of
 * gateway-json.ts: request fields in the proto's order, TTL and ID as jsonpb
 * names them ("TTL", "ID", "grantedTTL"), int64 as strings, zeros left out.
 */
import { goJSON } from "../go/json.ts";
import { bool, int64, omitZero, readMessage, responseHeader, type ResponseHeader } from "./gateway-json.ts";
import type {
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseKeepAliveRequest,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
} from "./types.ts";

export function decodeLeaseGrantRequest(body: string): LeaseGrantRequest {
  const f = readMessage(body);
  const ttl = int64(f("TTL"));
  return { ttl, id: int64(f("ID")) };
}

export const decodeLeaseRevokeRequest = (body: string): LeaseRevokeRequest => ({ id: int64(readMessage(body)("ID")) });

export function decodeLeaseTimeToLiveRequest(body: string): LeaseTimeToLiveRequest {
  const f = readMessage(body);
  const id = int64(f("ID"));
  return { id, keys: bool(f("keys")) };
}

export const decodeLeaseKeepAliveRequest = (body: string): LeaseKeepAliveRequest => ({ id: int64(readMessage(body)("ID")) });

/** LeaseLeasesRequest has no fields, but its body must still be JSON. */
export function decodeLeaseLeasesRequest(body: string): Record<string, never> {
  readMessage(body);
  return {};
}

const text = (n: number) => String(n);

export const encodeLeaseGrantResponse = (h: ResponseHeader, r: LeaseGrantResponse): string =>
  goJSON(omitZero({ header: responseHeader(h), ID: text(r.id), TTL: text(r.ttl) }));

export const encodeLeaseRevokeResponse = (h: ResponseHeader, _r: LeaseRevokeResponse): string => goJSON({ header: responseHeader(h) });

export const encodeLeaseTimeToLiveResponse = (h: ResponseHeader, r: LeaseTimeToLiveResponse): string =>
  goJSON(omitZero({ header: responseHeader(h), ID: text(r.id), TTL: text(r.ttl), grantedTTL: text(r.grantedTtl), keys: r.keys.map((k) => btoa(k)) }));

export const encodeLeaseLeasesResponse = (h: ResponseHeader, r: LeaseLeasesResponse): string =>
  goJSON(omitZero({ header: responseHeader(h), leases: r.leases.map((id) => ({ ID: text(id) })) }));

export const encodeLeaseKeepAliveResponse = (h: ResponseHeader, r: LeaseKeepAliveResponse): string =>
  goJSON(omitZero({ header: responseHeader(h), ID: text(r.id), TTL: text(r.ttl) }));
