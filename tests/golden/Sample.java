package com.example.orders;

import java.util.List;
import com.example.store.Store;

/** REST controller for orders. */
@RestController
public class OrderController {
    private final Store store;

    public OrderController(Store store) {
        this.store = store;
    }

    @GetMapping("/orders/{id}")
    public Order get(@PathVariable String id) {
        return store.find(id);
    }

    @PostMapping(value = "/orders")
    public Order create(Order order) {
        return store.save(new Order(order));
    }
}

interface Repository {
    List<Order> all();
}

enum Status { PENDING, PAID }

record Money(long cents) {}
