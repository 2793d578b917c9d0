"""Maps and tiles of the published layers, for every data-service area alike: raster maps
drawn with the map widget's styles (`draw`, `render`, `styles`), Mapbox vector tiles
(`vector`, `mvt`) and the tile matrix sets they are cut in (`matrix`)."""
