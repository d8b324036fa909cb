import { Router } from "express";
import { db } from "../db/client.js";
export { helper } from "./helper.js";

export interface OrderInput {
  customerId: string;
  lines: number;
}

export type OrderId = string;

export enum Status {
  Pending,
  Paid,
}

export abstract class Repository<T> {
  abstract find(id: string): Promise<T>;
}

export class OrderRepository extends Repository<OrderInput> {
  async find(id: string): Promise<OrderInput> {
    return db.query(id);
  }
}

export function createOrder(input: OrderInput): OrderId {
  return new OrderRepository().toString();
}

export const totalOf = (lines: number[]): number => lines.reduce((a, b) => a + b, 0);
export const MAX_LINES = 50;

export const ordersRouter = Router();
ordersRouter.post("/orders", (req, res) => res.json(createOrder(req.body)));
ordersRouter.get("/orders/:id", async (req, res) => res.json(await new OrderRepository().find(req.params.id)));
