/** The etcd release this server answers as (GET /version, maintenance/status). */
export const ETCD_SERVER_VERSION = "3.4.23";
/** The cluster version etcd 3.4 reports: major.minor.0. */
export const ETCD_CLUSTER_VERSION = "3.4.0";
