// The fake nova lives in src/sandbox (it ships for `ovnmeta demo`); tests import it from here.
export * from '../../src/sandbox/fake-nova.js';
