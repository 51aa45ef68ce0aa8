// The ACL group lives in ./acl/ (one file per object type); this path stays the group's entry.
export * from './acl/index.js';
