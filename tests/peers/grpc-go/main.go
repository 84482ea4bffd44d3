// Command grpc-go-peer is the contract suite's grpc-go client (tests/src/peers/grpc_go.rs runs it):
// one RPC of zitadel.auth.v1.AuthService per run, over h2c, printing one JSON line with the
// status code and message, the decoded status details and the response.
//
//	grpc-go-peer --addr 127.0.0.1:PORT --method Add|Send|List|Remove
//	             [--token T | --authorization VALUE] [--org ID] [--id PASSKEY_ID] [--timeout 10s]
//
// --token sends "authorization: Bearer T"; --authorization sends VALUE as it is (another scheme);
// with neither there is no authorization header. The exit status is 0 whenever the call ended,
// with or without an error status; 2 for a usage error.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	authv1 "zitadel-passkey/grpc-go-peer/gen/zitadel/auth/v1"
	zitadelv1 "zitadel-passkey/grpc-go-peer/gen/zitadel/v1"
)

// detail is one entry of the status details: a zitadel.v1.ErrorDetail's id and message, the
// type of any other message, or why an entry did not decode.
type detail struct {
	Type    string `json:"type"`
	ID      string `json:"id,omitempty"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

// result is the line printed for the call.
type result struct {
	Method   string          `json:"method"`
	Code     uint32          `json:"code"`
	CodeName string          `json:"code_name"`
	Message  string          `json:"message"`
	Details  []detail        `json:"details"`
	Response json.RawMessage `json:"response,omitempty"`
}

func main() {
	addr := flag.String("addr", "", "host:port of the server (h2c)")
	method := flag.String("method", "", "Add, Send, List or Remove")
	token := flag.String("token", "", "bearer token (authorization: Bearer TOKEN)")
	authorization := flag.String("authorization", "", "raw authorization value (overrides --token)")
	org := flag.String("org", "", "x-zitadel-orgid")
	id := flag.String("id", "", "the passkey ID for Remove")
	timeout := flag.Duration("timeout", 10*time.Second, "the call's deadline")
	flag.Parse()
	if *addr == "" || flag.NArg() != 0 {
		usage("--addr is required and there are no positional arguments")
	}

	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintf(os.Stderr, "grpc-go-peer: %v\n", err)
		os.Exit(1)
	}
	defer conn.Close()
	client := authv1.NewAuthServiceClient(conn)

	md := metadata.MD{}
	switch {
	case *authorization != "":
		md.Set("authorization", *authorization)
	case *token != "":
		md.Set("authorization", "Bearer "+*token)
	}
	if *org != "" {
		md.Set("x-zitadel-orgid", *org)
	}
	ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), md), *timeout)
	defer cancel()

	var response proto.Message
	switch *method {
	case "Add":
		response, err = client.AddMyPasswordlessLink(ctx, &authv1.AddMyPasswordlessLinkRequest{})
	case "Send":
		response, err = client.SendMyPasswordlessLink(ctx, &authv1.SendMyPasswordlessLinkRequest{})
	case "List":
		response, err = client.ListMyPasswordless(ctx, &authv1.ListMyPasswordlessRequest{})
	case "Remove":
		response, err = client.RemoveMyPasswordless(ctx, &authv1.RemoveMyPasswordlessRequest{TokenId: *id})
	default:
		usage(fmt.Sprintf("unknown --method %q", *method))
	}

	out := result{Method: *method, Details: []detail{}}
	if err != nil {
		// A non-status error (a broken connection) reads as UNKNOWN with the error's text.
		st := status.Convert(err)
		out.Code = uint32(st.Code())
		out.CodeName = st.Code().String()
		out.Message = st.Message()
		for _, d := range st.Details() {
			out.Details = append(out.Details, describe(d))
		}
	} else {
		out.CodeName = "OK"
		body, err := protojson.Marshal(response)
		if err != nil {
			fmt.Fprintf(os.Stderr, "grpc-go-peer: encoding the response: %v\n", err)
			os.Exit(1)
		}
		out.Response = body
	}
	line, err := json.Marshal(out)
	if err != nil {
		fmt.Fprintf(os.Stderr, "grpc-go-peer: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(string(line))
}

// describe turns one of status.Details()'s entries into a detail.
func describe(d any) detail {
	switch d := d.(type) {
	case *zitadelv1.ErrorDetail:
		return detail{Type: string(d.ProtoReflect().Descriptor().FullName()), ID: d.GetId(), Message: d.GetMessage()}
	case proto.Message:
		return detail{Type: string(d.ProtoReflect().Descriptor().FullName())}
	case error:
		return detail{Error: d.Error()}
	default:
		return detail{Error: fmt.Sprintf("unexpected detail %T", d)}
	}
}

func usage(problem string) {
	fmt.Fprintf(os.Stderr, "grpc-go-peer: %s\n", problem)
	flag.Usage()
	os.Exit(2)
}
