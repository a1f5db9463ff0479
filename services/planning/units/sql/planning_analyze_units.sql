-- Fresh planner statistics for the unit tables, callable by the services' role (only the owner
-- may ANALYZE): an import writes 50,000 units and then joins them (adjacency, edges, cells) in
-- the same transaction, where statistics of the empty set would plan a nested loop of seq
-- scans (minutes instead of seconds). ANALYZE counts the transaction's own new rows.
-- Loaded (and granted to territory_app only) by the migration a3c81f0d9e27; a change here needs a migration that reloads it.
CREATE OR REPLACE FUNCTION planning_analyze_units() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
BEGIN
    ANALYZE basic_unit;
    ANALYZE unit_adjacency;
END;
$fn$;
