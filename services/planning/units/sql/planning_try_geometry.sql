-- A GeoJSON geometry (jsonb) to a geometry in SRID 4326, NULL when PostGIS cannot read it: tells
-- the unreadable features of an import apart in one set-based statement (the reason is then
-- reported per feature). Catching the error opens a subtransaction: PARALLEL UNSAFE.
-- Loaded by the migration a3c81f0d9e27; a change here needs a migration that reloads it.
CREATE OR REPLACE FUNCTION planning_try_geometry(p_geojson jsonb) RETURNS geometry
LANGUAGE plpgsql IMMUTABLE PARALLEL UNSAFE AS $fn$
BEGIN
    RETURN ST_SetSRID(ST_GeomFromGeoJSON(p_geojson::text), 4326);
EXCEPTION WHEN others THEN
    RETURN NULL;
END;
$fn$;
