import type { Etcd3CallOptions } from '../options.js';
import { nested, readHeader, type ResponseHeader } from '../proto/kv.js';
import { Writer, type Reader } from '../proto/wire.js';
import { rpc, type CallFn } from '../request.js';

/** A cluster member (`Member`). */
export interface Etcd3Member {
  /** The member ID (decimal). */
  id: string;
  /** Empty while the member has not started. */
  name: string;
  /** The URLs the other members reach it on (its advertised peer URLs). */
  peerUrls: string[];
  /** Empty while the member has not started. */
  clientUrls: string[];
  /** A Raft learner: a member that replicates but does not vote (etcd 3.4+). */
  isLearner: boolean;
}

/** A member's view of itself and the cluster (`StatusResponse`). */
export interface Etcd3Status {
  /** etcd's response header (answering member, store revision, Raft term). */
  header: ResponseHeader;
  /** The server's version, e.g. `3.4.23`. */
  version: string;
  /** Bytes the member's backend database file takes on disk, free pages included. */
  dbSize: number;
  /** The member ID the answering member believes leads; `'0'` for none. */
  leader: string;
  /** The member's Raft committed index. */
  raftIndex: number;
  /** The member's current Raft term. */
  raftTerm: number;
  /** The member's Raft applied index: how far it has applied the committed log. 0 before etcd 3.4. */
  raftAppliedIndex: number;
  /** Alarms and health problems the member reports. */
  errors: string[];
  /**
   * Bytes of the database in use; the rest of `dbSize` is free space a defragmentation gives back.
   * 0 before etcd 3.4.
   */
  dbSizeInUse: number;
  /** True when the answering member is a Raft learner (etcd 3.4+). */
  isLearner: boolean;
}

function readMember(r: Reader, end: number): Etcd3Member {
  const member: Etcd3Member = { id: '0', name: '', peerUrls: [], clientUrls: [], isLearner: false };
  for (let tag = r.tag(end); tag !== -1; tag = r.tag(end)) {
    if (tag === 8) member.id = r.id();
    else if (tag === 18) member.name = r.string();
    else if (tag === 26) member.peerUrls.push(r.string());
    else if (tag === 34) member.clientUrls.push(r.string());
    else if (tag === 40) member.isLearner = r.varint() !== 0;
    else r.skip(tag & 7);
  }
  return member;
}

function readMembers(r: Reader, end: number): { header: ResponseHeader; members: Etcd3Member[] } {
  const out = { header: undefined as unknown as ResponseHeader, members: [] as Etcd3Member[] };
  for (let tag = r.tag(end); tag !== -1; tag = r.tag(end)) {
    if (tag === 10) out.header = nested(r, readHeader);
    else if (tag === 18) out.members.push(nested(r, readMember));
    else r.skip(tag & 7);
  }
  return out;
}

function readStatus(r: Reader, end: number): Etcd3Status {
  const out: Etcd3Status = {
    header: undefined as unknown as ResponseHeader,
    version: '',
    dbSize: 0,
    leader: '0',
    raftIndex: 0,
    raftTerm: 0,
    raftAppliedIndex: 0,
    errors: [],
    dbSizeInUse: 0,
    isLearner: false,
  };
  for (let tag = r.tag(end); tag !== -1; tag = r.tag(end)) {
    if (tag === 10) out.header = nested(r, readHeader);
    else if (tag === 18) out.version = r.string();
    else if (tag === 24) out.dbSize = r.varint();
    else if (tag === 32) out.leader = r.id();
    else if (tag === 40) out.raftIndex = r.varint();
    else if (tag === 48) out.raftTerm = r.varint();
    else if (tag === 56) out.raftAppliedIndex = r.varint();
    else if (tag === 66) out.errors.push(r.string());
    else if (tag === 72) out.dbSizeInUse = r.varint();
    else if (tag === 80) out.isLearner = r.varint() !== 0;
    else r.skip(tag & 7);
  }
  return out;
}

const MEMBER_LIST = rpc('Cluster', 'MemberList', readMembers);
const STATUS = rpc('Maintenance', 'Status', readStatus);

/** The Cluster service (members). */
export class ClusterApi {
  readonly #call: CallFn;

  /** Made by {@link Etcd3Client} (its `cluster`) over the client's request function. */
  constructor(call: CallFn) {
    this.#call = call;
  }

  /** Every member (`Cluster/MemberList`). */
  async members(options: Etcd3CallOptions = {}): Promise<Etcd3Member[]> {
    const { members } = await this.#call(MEMBER_LIST, new Writer(), { ...options, idempotent: true });
    return members;
  }
}

/** The Maintenance service (status). */
export class MaintenanceApi {
  readonly #call: CallFn;

  /** Made by {@link Etcd3Client} (its `maintenance`) over the client's request function. */
  constructor(call: CallFn) {
    this.#call = call;
  }

  /**
   * The answering member's status (`Maintenance/Status`): the pinned host's, or `host`'s (no
   * failover then: a status is about one member).
   */
  status(options: Etcd3CallOptions & { host?: string } = {}): Promise<Etcd3Status> {
    return this.#call(STATUS, new Writer(), { ...options, idempotent: true });
  }
}
