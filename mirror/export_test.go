package mirror

import "github.com/prometheus/client_golang/prometheus"

// CatalogReads returns how many catalog reads the page and file paths of m
// have made (the warm paths make none).
func CatalogReads(m *Mirror) int64 { return m.reads.Load() }

// Lookups returns m's counter pyindex_mirror_cache_lookups_total{kind,result}.
func Lookups(m *Mirror) *prometheus.CounterVec { return m.m.lookups }
