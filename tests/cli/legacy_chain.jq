# legacy_chain.jq - the lift-inspection chain of edgesentry_rs_legacy.json as
# edgesentry-rs writes a chain file: one array of serde_json records, byte
# fields as arrays of integers, each prev_record_hash the record_hash of the
# record before (taken from the vectors, not computed).  Used by the CLI tests:
#   jq -f legacy_chain.jq edgesentry_rs_legacy.json
def hexval: if . >= 97 then . - 87 elif . >= 65 then . - 55 else . - 48 end;
def bytes: explode as $c
  | [range(0; $c | length; 2) as $i | ($c[$i] | hexval) * 16 + ($c[$i + 1] | hexval)];
.lift_inspection_chain as $ch
| [range(0; $ch.records | length) as $i
   | $ch.records[$i] as $r
   | {device_id: $ch.device_id, sequence: $r.sequence, timestamp_ms: $r.timestamp_ms,
      payload_hash: ($r.payload_hash | bytes), signature: ($r.signature | bytes),
      prev_record_hash: (if $i == 0 then "00" * 32 else $ch.records[$i - 1].record_hash end
                         | bytes),
      object_ref: $r.object_ref}]
