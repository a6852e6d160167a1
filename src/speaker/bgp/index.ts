// BGP-4 protocol core: wire codec, session state machine, outbound RIB. No sockets, no timers.
export * from './codec/errors.js';
export * from './codec/capabilities.js';
export * from './codec/attributes.js';
export * from './codec/nlri.js';
export * from './codec/messages.js';
export * from './fsm.js';
export * from './ribOut.js';
