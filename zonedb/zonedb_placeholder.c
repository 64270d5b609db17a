int zonedb_placeholder_;
