"""Ids for a job's rows that sort in file order: UUIDv7 (RFC 9562) with a row counter.

Random (v4) ids send each of a million inserts to a random leaf of the primary key and of
``assignment.lead_id``'s index; ids that grow with the row number fill those indexes leaf by
leaf. Layout: the job's start in unix milliseconds (48 bits), version 7, a 30-bit counter (the
row number: 12 bits in rand_a, then 18 after the variant bits, RFC 9562 method 1), 40 random
bits. Two jobs starting in the same millisecond still differ in the random bits.
"""

MAX_COUNTER = 2**30 - 1


def ordered_uuid_sql(*, epoch_ms: int, counter: str) -> str:
    """A SQL expression of a uuid from ``counter`` (a bigint expression below 2**30)."""
    c = f"({counter})"
    high = f"int8send(({int(epoch_ms)}::bigint << 16) | 28672 | ({c} >> 18 & 4095))"
    low = (
        "set_byte(set_byte(set_byte(substring(uuid_send(gen_random_uuid()) from 9 for 8), "
        f"0, (128 | ({c} >> 12 & 63))::int), 1, ({c} >> 4 & 255)::int), 2, (({c} & 15) << 4)::int)"
    )
    return f"encode({high} || {low}, 'hex')::uuid"
