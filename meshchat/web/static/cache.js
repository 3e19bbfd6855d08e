// Every message this tab has seen, by id, with an index from each message to the ids of
// its direct replies. A row's "Thread (n)", a thread's root and its members are read from
// the index, so drawing a row never scans the whole cache.

export class MessageCache {
  constructor() {
    this.byId = new Map(); // id -> message
    this.replyIds = new Map(); // parent id -> Set of ids of the cached messages replying to it
  }

  get(id) {
    return this.byId.get(id);
  }

  has(id) {
    return this.byId.has(id);
  }

  /** Store ``m``, or replace the copy with its id, keeping the reply index in step. */
  put(m) {
    const old = this.byId.get(m.id);
    // A record's reply_to does not change, but an index that trusted that would go wrong
    // quietly if one ever did.
    if (old && old.reply_to && old.reply_to !== m.reply_to) this.unlink(old);
    this.byId.set(m.id, m);
    if (m.reply_to) {
      let ids = this.replyIds.get(m.reply_to);
      if (!ids) {
        ids = new Set();
        this.replyIds.set(m.reply_to, ids);
      }
      ids.add(m.id);
    }
  }

  unlink(m) {
    const ids = this.replyIds.get(m.reply_to);
    if (!ids) return;
    ids.delete(m.id);
    if (!ids.size) this.replyIds.delete(m.reply_to);
  }

  clear() {
    this.byId.clear();
    this.replyIds.clear();
  }

  /** How many cached messages reply to ``id`` directly. */
  replyCount(id) {
    const ids = this.replyIds.get(id);
    return ids ? ids.size : 0;
  }

  /** The ids of the cached messages that reply to ``id`` directly (a copy). */
  replies(id) {
    return [...(this.replyIds.get(id) || [])];
  }

  /** The earliest cached message up the reply chain from ``id`` (``id`` itself at the top). */
  rootOf(id) {
    let m = this.byId.get(id);
    let root = id;
    const seen = new Set(); // a reply loop in hostile data must not hang the tab
    while (m && m.reply_to && this.byId.has(m.reply_to) && !seen.has(m.id)) {
      seen.add(m.id);
      root = m.reply_to;
      m = this.byId.get(root);
    }
    return root;
  }

  /** ``root`` when cached and every cached message below it in the reply tree, unordered. */
  thread(root) {
    const members = [];
    const seen = new Set([root]);
    const todo = [root];
    while (todo.length) {
      const id = todo.pop();
      const m = this.byId.get(id);
      if (m) members.push(m);
      for (const reply of this.replyIds.get(id) || []) {
        if (!seen.has(reply)) {
          seen.add(reply);
          todo.push(reply);
        }
      }
    }
    return members;
  }
}
