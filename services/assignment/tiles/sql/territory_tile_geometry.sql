-- Territory polygons prepared for vector tiles: projected to web Mercator (EPSG:3857, the tile
-- grid's) and simplified once per zoom band, so that a tile costs clipping a few vertices
-- instead of projecting and simplifying every full-detail polygon it touches on every request.
--
-- Which zooms read which band is services/assignment/tiles/repository.py's ZOOM_BANDS: band b is
-- simplified with a tolerance of half a screen pixel (512-px tiles) at its deepest zoom z, that
-- is world width / (1024 * 2^z): bands 0-4 for zooms 3, 5, 7, 9, 11; band 5 (zoom 12 and
-- deeper) is the polygon as stored, projected only.

-- One territory polygon (EPSG:4326) per band. Web Mercator stops at ±85.0511° latitude: what
-- lies beyond is cut off (ST_Transform fails there); a polygon wholly beyond it gets no rows.
CREATE OR REPLACE FUNCTION territory_tile_bands(geom geometry)
RETURNS TABLE (band smallint, geom geometry)
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = public, pg_temp AS $fn$
    SELECT bands.band,
           CASE WHEN bands.tolerance = 0 THEN projected.geom
                ELSE ST_SimplifyPreserveTopology(projected.geom, bands.tolerance) END
    FROM (
        SELECT ST_Transform(
                   CASE WHEN ST_YMax($1) > 85.0511 OR ST_YMin($1) < -85.0511
                        THEN ST_CollectionExtract(ST_Intersection(
                                 $1, ST_MakeEnvelope(-180, -85.0511, 180, 85.0511, 4326)), 3)
                        ELSE $1 END,
                   3857) AS geom
    ) projected
    CROSS JOIN (VALUES (CAST(0 AS smallint), 40075016.685578488 / (1024 * 8)),
                       (CAST(1 AS smallint), 40075016.685578488 / (1024 * 32)),
                       (CAST(2 AS smallint), 40075016.685578488 / (1024 * 128)),
                       (CAST(3 AS smallint), 40075016.685578488 / (1024 * 512)),
                       (CAST(4 AS smallint), 40075016.685578488 / (1024 * 2048)),
                       (CAST(5 AS smallint), 0.0)) AS bands (band, tolerance)
    WHERE $1 IS NOT NULL AND NOT ST_IsEmpty(projected.geom)
$fn$;

-- Kept current by the database itself, whichever path writes a territory (create, import,
-- clone, update, a planning draft): statement-level triggers with transition tables, so an
-- import of 10,000 territories runs one INSERT ... SELECT. Deletes cascade (foreign key).
CREATE OR REPLACE FUNCTION refresh_territory_tile_geometry() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO territory_tile_geometry (territory_id, band, tenant_id, alignment_id, geom)
        SELECT n.id, b.band, n.tenant_id, n.alignment_id, b.geom
        FROM territory_new_rows n CROSS JOIN LATERAL territory_tile_bands(n.geom) b
        WHERE n.geom IS NOT NULL;
    ELSE
        -- Only the territories whose polygon changed: a rename or a relevel keeps its rows.
        DELETE FROM territory_tile_geometry g
        USING territory_new_rows n JOIN territory_old_rows o ON o.id = n.id
        WHERE g.territory_id = n.id AND n.geom IS DISTINCT FROM o.geom;
        INSERT INTO territory_tile_geometry (territory_id, band, tenant_id, alignment_id, geom)
        SELECT n.id, b.band, n.tenant_id, n.alignment_id, b.geom
        FROM territory_new_rows n JOIN territory_old_rows o ON o.id = n.id
        CROSS JOIN LATERAL territory_tile_bands(n.geom) b
        WHERE n.geom IS NOT NULL AND n.geom IS DISTINCT FROM o.geom;
    END IF;
    RETURN NULL;
END
$fn$;
