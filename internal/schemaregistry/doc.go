// Package schemaregistry decodes records in the Confluent wire format (magic
// byte 0, a 4-byte big-endian schema id, Protobuf message indexes, the
// payload) into JSON objects, with the schemas fetched by id from a
// Confluent-compatible Schema Registry.
//
// A Decoder handles one format: Avro (github.com/hamba/avro/v2), Protobuf
// (descriptors compiled at run time from .proto text with
// github.com/bufbuild/protocompile, or taken from a base64-encoded
// FileDescriptorProto, decoded with dynamicpb) or JSON Schema (the payload
// is JSON). The Registry fetches each schema, and the schemas it
// references, once per id even under concurrency, and keeps a bounded
// number of compiled schemas, so records whose schema is known keep
// decoding while the registry is down.
//
// Errors tell records apart from the registry: a *RecordError (reason
// schema_not_found, wire_format or decode_failed) is the record's and will
// never decode; ErrUnavailable (unreachable, timed out, 5xx, 401/403, 429)
// is the registry's, and retrying helps.
//
// Rendering (see render.go): records and messages become JSON objects in
// schema order; bytes and fixed are base64; decimals are strings with
// their exact scale; timestamps are RFC 3339 strings in UTC, dates
// YYYY-MM-DD, times of day HH:MM:SS.fraction; enums are their symbol
// names; a union is the value of the branch taken, without a wrapper; null
// is null; Protobuf follows protojson (proto field names, unpopulated
// fields included as their defaults or null, except unset oneof members
// and unset proto3 optional fields, which are left out; 64-bit integers as
// strings, enums as names, well-known types such as Timestamp in their
// JSON forms).
package schemaregistry
