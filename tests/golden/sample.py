"""Orders service: create and list orders."""
import os
from collections import defaultdict
from .models import Order, OrderLine
from fastapi import APIRouter

MAX_LINES = 50
router = APIRouter()


class OrderService(BaseService):
    """Creates orders for a customer."""

    def create(self, customer_id, lines):
        if len(lines) > MAX_LINES:
            raise ValueError("too many lines")
        return Order.objects.create(customer_id=customer_id)

    @staticmethod
    def total(lines):
        return sum(line.amount for line in lines)


def list_orders(customer_id):
    return OrderService().create(customer_id, [])


@router.get("/orders/{order_id}")
def get_order(order_id: int):
    return {"id": order_id}
