// OVSDB management protocol client (RFC 7047), written from the RFC. See docs/ovsdb.md.
export * from './jsonStream.js';
export * from './datum.js';
export * from './rpc.js';
export * from './operations.js';
export * from './replica.js';
export * from './client.js';
export * from './openvswitch.js';
