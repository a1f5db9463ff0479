"""Vector tiles (Mapbox Vector Tile, built by PostGIS) and small GeoJSON layers for maps."""
