package schemaregistry

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// protoJSON renders a decoded message: proto field names (the names in the
// .proto, as the entry's field names), every field including the unset
// ones (a stream reader sees 0, "" and false rather than a missing field)
// but for oneof members not set, which protojson leaves out.
var protoJSON = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}

// compileProto compiles a registry's Protobuf schema and the schemas it
// references (by their import names) into a file descriptor. Each may be
// .proto text or a base64-encoded FileDescriptorProto (the form Confluent's
// Python serializer registers); google/protobuf/* imports need no
// reference.
func compileProto(ctx context.Context, id int, text string, refs []reference) (protoreflect.FileDescriptor, error) {
	main := fmt.Sprintf("krc-schema-registry-id-%d.proto", id)
	texts := map[string]string{main: text}
	for _, ref := range refs {
		texts[ref.name] = ref.schema.Schema
	}
	resolver := protocompile.WithStandardImports(protocompile.ResolverFunc(func(path string) (protocompile.SearchResult, error) {
		t, ok := texts[path]
		if !ok {
			return protocompile.SearchResult{}, fmt.Errorf("import %q: not among the schema's references: %w", path, protoregistry.NotFound)
		}
		if fdp, ok := fileDescriptorProto(t); ok {
			fdp.Name = proto.String(path)
			return protocompile.SearchResult{Proto: fdp}, nil
		}
		return protocompile.SearchResult{Source: strings.NewReader(t)}, nil
	}))
	c := protocompile.Compiler{Resolver: resolver}
	files, err := c.Compile(ctx, main)
	if err != nil {
		return nil, err
	}
	return files[0], nil
}

// fileDescriptorProto reports whether text is a base64-encoded
// FileDescriptorProto, and decodes it. Text of a .proto file never is: it
// has spaces, which base64 lacks.
func fileDescriptorProto(text string) (*descriptorpb.FileDescriptorProto, bool) {
	text = strings.TrimSpace(text)
	if text == "" || strings.ContainsAny(text, " \n\t;{") {
		return nil, false
	}
	raw, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, false
	}
	fdp := &descriptorpb.FileDescriptorProto{}
	if err := proto.Unmarshal(raw, fdp); err != nil {
		return nil, false
	}
	return fdp, true
}

// messageAt finds the message a Confluent message index names: the first
// entry among the file's top-level messages, each further one among the
// nested messages of the previous.
func messageAt(fd protoreflect.FileDescriptor, index []int) (protoreflect.MessageDescriptor, error) {
	msgs := fd.Messages()
	var md protoreflect.MessageDescriptor
	for depth, i := range index {
		if i < 0 || i >= msgs.Len() {
			return nil, fmt.Errorf("message index %v: entry %d is %d, the schema has %d message(s) there", index, depth, i, msgs.Len())
		}
		md = msgs.Get(i)
		msgs = md.Messages()
	}
	if md == nil {
		return nil, errors.New("empty message index")
	}
	return md, nil
}

// appendProtoJSON decodes payload as a message md and appends its JSON.
func appendProtoJSON(dst []byte, md protoreflect.MessageDescriptor, payload []byte) ([]byte, error) {
	msg := dynamicpb.NewMessage(md)
	if err := proto.Unmarshal(payload, msg); err != nil {
		return dst, fmt.Errorf("protobuf %s: %w", md.FullName(), err)
	}
	out, err := protoJSON.Marshal(msg)
	if err != nil {
		return dst, fmt.Errorf("protobuf %s: %w", md.FullName(), err)
	}
	// protojson varies its whitespace on purpose; entries should not.
	buf := bytes.NewBuffer(dst)
	if err := json.Compact(buf, out); err != nil {
		return dst, fmt.Errorf("protobuf %s: %w", md.FullName(), err)
	}
	return buf.Bytes(), nil
}
