// Package securetest gives tests a throw-away certificate authority and an
// in-process Kafka (kfake, TLS with client certificates and SCRAM-SHA-512)
// and Redis (miniredis, TLS and an ACL user) that demand them: the
// start-up check's tests and the CLI's tests of bad credentials share it.
// Only tests import it.
package securetest
