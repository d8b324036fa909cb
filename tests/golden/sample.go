package orders

import (
	"net/http"

	"example.com/shop/internal/store"
)

// MaxLines caps an order.
const MaxLines = 50

// Order is a customer order.
type Order struct {
	ID    string
	Lines int
}

type Repository interface {
	Find(id string) (*Order, error)
}

// Handler serves orders.
func Handler(s *store.Store) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/orders", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	return mux
}

func (o *Order) Total() int {
	return o.Lines * 2
}
