import assert from 'node:assert/strict';
import type { EndpointRow } from './table.js';

const key = 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=';
const autopilot = {
  CleanupDeadServers: true,
  LastContactThreshold: '200ms',
  MaxTrailingLogs: 250,
  MinQuorum: 0,
  ServerStabilizationTime: '10s',
  RedundancyZoneTag: '',
  DisableUpgradeMigration: false,
  UpgradeVersionTag: '',
  CreateIndex: 5,
  ModifyIndex: 5,
};
const health = {
  Healthy: false,
  FailureTolerance: 0,
  Servers: [{ ID: 'a', Name: 's1', Address: '127.0.0.1:8300', Healthy: false, Voter: true, Leader: true }],
};

export const rows: EndpointRow[] = [
  {
    route: 'GET /v1/operator/raft/configuration',
    call: (c) => c.operator.raft.configuration({ stale: true }),
    method: 'GET',
    path: '/v1/operator/raft/configuration',
    query: { stale: '' },
    reply: {
      body: {
        Servers: [
          { ID: 'a', Node: 's1', Address: '127.0.0.1:8300', Leader: true, ProtocolVersion: '3', Voter: true },
        ],
        Index: 0,
      },
    },
    result: (value) => assert.equal((value as { Servers: unknown[] }).Servers.length, 1),
  },
  {
    route: 'DELETE /v1/operator/raft/peer',
    call: (c) => c.operator.raft.removePeer({ address: '10.0.0.9:8300' }),
    method: 'DELETE',
    path: '/v1/operator/raft/peer',
    query: { address: '10.0.0.9:8300' },
    reply: { body: '' },
    result: (value) => assert.equal(value, undefined),
  },
  {
    route: 'GET /v1/operator/autopilot/configuration',
    call: (c) => c.operator.autopilot.getConfiguration(),
    method: 'GET',
    path: '/v1/operator/autopilot/configuration',
    reply: { body: autopilot },
    result: (value) => assert.deepEqual(value, autopilot),
  },
  {
    route: 'PUT /v1/operator/autopilot/configuration',
    call: (c) => c.operator.autopilot.setConfiguration({ ...autopilot, MaxTrailingLogs: 500 }, { cas: 5 }),
    method: 'PUT',
    path: '/v1/operator/autopilot/configuration',
    query: { cas: '5' },
    body: { ...autopilot, MaxTrailingLogs: 500 },
    reply: { body: 'true' },
    result: (value) => assert.equal(value, true),
  },
  {
    route: 'GET /v1/operator/autopilot/health',
    call: (c) => c.operator.autopilot.health(),
    method: 'GET',
    path: '/v1/operator/autopilot/health',
    // Unhealthy: 429 with the same body.
    reply: { status: 429, body: health },
    result: (value) => assert.deepEqual(value, health),
  },
  {
    route: 'GET /v1/operator/keyring',
    call: (c) => c.operator.keyring.list({ relayFactor: 2, localOnly: true }),
    method: 'GET',
    path: '/v1/operator/keyring',
    query: { 'relay-factor': '2', 'local-only': '' },
    reply: {
      body: [
        {
          WAN: false,
          Datacenter: 'dc1',
          Segment: '',
          Keys: { [key]: 1 },
          PrimaryKeys: { [key]: 1 },
          NumNodes: 1,
        },
      ],
    },
    result: (value) => assert.deepEqual((value as { Keys: unknown }[])[0]?.Keys, { [key]: 1 }),
  },
  {
    route: 'POST /v1/operator/keyring',
    call: (c) => c.operator.keyring.install(key),
    method: 'POST',
    path: '/v1/operator/keyring',
    body: { Key: key },
    reply: { body: '' },
  },
  {
    route: 'PUT /v1/operator/keyring',
    call: (c) => c.operator.keyring.use(key, { relayFactor: 1 }),
    method: 'PUT',
    path: '/v1/operator/keyring',
    query: { 'relay-factor': '1' },
    body: { Key: key },
    reply: { body: '' },
  },
  {
    route: 'DELETE /v1/operator/keyring',
    call: (c) => c.operator.keyring.remove(key),
    method: 'DELETE',
    path: '/v1/operator/keyring',
    body: { Key: key },
    reply: { body: '' },
  },
];

/** Routes of this group without a row yet: remove each one as its row lands. */
export const pending: string[] = [];
