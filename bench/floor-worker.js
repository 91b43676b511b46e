// The runtime's floor for `npm run bench`: a Worker that answers every
// request with an empty 200 and does nothing else, so each of our rows can be
// read against what the platform itself allows.
export default {
  fetch() {
    return new Response(null);
  },
};
