package generic

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pyindex/pyindex/storage"
)

// metrics count generic uploads; downloads are counted by the server's
// request metrics (pyindex_download_files_total{source="generic"}), and
// deletes by the admin API's.
type metrics struct {
	files *prometheus.CounterVec
	bytes prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) metrics {
	return metrics{
		files: storage.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "pyindex", Subsystem: "generic", Name: "upload_files_total",
			Help: "Accepted generic file uploads: result stored (a new file) or identical (a retry of a file already stored).",
		}, []string{"result"})),
		bytes: storage.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "pyindex", Subsystem: "generic", Name: "upload_bytes_total",
			Help: "Bytes of newly stored generic files (identical retries are not counted).",
		})),
	}
}

func (m metrics) uploaded(size int64, identical bool) {
	if identical {
		m.files.WithLabelValues("identical").Inc()
		return
	}
	m.files.WithLabelValues("stored").Inc()
	m.bytes.Add(float64(size))
}
