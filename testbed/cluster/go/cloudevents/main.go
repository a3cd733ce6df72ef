// Command cloudevents sends one CloudEvent to a subscriber and reads the answer as Knative
// Eventing's broker does, with github.com/cloudevents/sdk-go/v2's HTTP binding: the request is
// written in binary or structured mode, the response read as a message; when its encoding is
// unknown it carries no event (the broker forwards no reply), else the event is read from it.
// Whether the delivery succeeded is the status alone (2xx); the broker retries or dead-letters the
// rest. It prints, as one JSON line, the status, the response's encoding and the reply event.
//
//	cloudevents -target URL -mode binary|structured -type T -source S -id ID [-data JSON]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

type reply struct {
	Type            string          `json:"type"`
	Source          string          `json:"source"`
	ID              string          `json:"id"`
	Subject         string          `json:"subject,omitempty"`
	DataContentType string          `json:"datacontenttype,omitempty"`
	Extensions      map[string]any  `json:"extensions,omitempty"`
	Data            json.RawMessage `json:"data,omitempty"`
}

type answer struct {
	Status   int    `json:"status"`
	Encoding string `json:"encoding"`
	Reply    *reply `json:"reply"`
	// Why the response, though not of unknown encoding, could not be read as an event.
	Error string `json:"error,omitempty"`
}

func main() {
	target := flag.String("target", "", "the subscriber's URL")
	mode := flag.String("mode", "binary", "binary or structured")
	eventType := flag.String("type", "", "the event's type")
	source := flag.String("source", "", "the event's source")
	id := flag.String("id", "", "the event's id")
	data := flag.String("data", "", "the event's data (JSON), none when empty")
	flag.Parse()
	if *target == "" || *eventType == "" || *source == "" || *id == "" {
		fmt.Fprintln(os.Stderr, "usage: cloudevents -target URL -mode binary|structured -type T -source S -id ID [-data JSON]")
		os.Exit(2)
	}

	event := cloudevents.NewEvent()
	event.SetID(*id)
	event.SetSource(*source)
	event.SetType(*eventType)
	if *data != "" {
		if err := event.SetData(cloudevents.ApplicationJSON, json.RawMessage(*data)); err != nil {
			fail(err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	switch *mode {
	case "binary":
		ctx = binding.WithForceBinary(ctx)
	case "structured":
		ctx = binding.WithForceStructured(ctx)
	default:
		fail(fmt.Errorf("-mode: %q is not binary or structured", *mode))
	}

	request, err := http.NewRequestWithContext(ctx, http.MethodPost, *target, bytes.NewReader(nil))
	if err != nil {
		fail(err)
	}
	if err := cehttp.WriteRequest(ctx, binding.ToMessage(&event), request); err != nil {
		fail(err)
	}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		fail(err)
	}
	defer response.Body.Close()

	message := cehttp.NewMessageFromHttpResponse(response)
	out := answer{Status: response.StatusCode, Encoding: message.ReadEncoding().String()}
	if message.ReadEncoding() != binding.EncodingUnknown {
		replyEvent, err := binding.ToEvent(ctx, message)
		if err != nil {
			out.Error = err.Error()
		} else {
			out.Reply = &reply{
				Type:            replyEvent.Type(),
				Source:          replyEvent.Source(),
				ID:              replyEvent.ID(),
				Subject:         replyEvent.Subject(),
				DataContentType: replyEvent.DataContentType(),
				Extensions:      replyEvent.Extensions(),
				Data:            replyEvent.Data(),
			}
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
