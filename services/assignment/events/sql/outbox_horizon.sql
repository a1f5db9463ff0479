-- The outbox's horizon for the calling statement's snapshot: every event whose txid is below
-- it is final (committed and visible, or never will be), and every event still to commit has
-- a txid at or above it. See services/assignment/events/repository.py for the argument.
--
-- It is the lowest xid among the snapshot's running transactions that may belong to this
-- database, else the snapshot's xmax. A running transaction of another database (known by
-- its backend in pg_stat_activity) can never write this outbox and is left out, so a long
-- COPY in a neighbouring database on the same cluster does not hold the feed back; one whose
-- database cannot be told (its backend just ended, a prepared transaction, no privilege to
-- see it) counts as this database's. Plain pg_snapshot_xmin would be the same rule without
-- that refinement. SECURITY DEFINER: the services' role may not read other sessions' xids in
-- pg_stat_activity (the owner may, as a superuser or a member of pg_read_all_stats); it
-- returns one number and nothing else of them.
-- Loaded by the migration 51fa9c9a3c03.
CREATE OR REPLACE FUNCTION outbox_horizon() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT coalesce(
        (SELECT min(x)::text::bigint
           FROM pg_snapshot_xip(pg_current_snapshot()) x
          WHERE NOT EXISTS (
                SELECT FROM pg_stat_activity a
                 WHERE a.backend_xid = x::xid
                   AND a.datname IS DISTINCT FROM current_database()
                   AND a.datid IS NOT NULL)),
        pg_snapshot_xmax(pg_current_snapshot())::text::bigint)
$fn$;
