import React, { useState } from "react";
import { Button } from "./Button";

interface Props {
  title: string;
}

export const OrderCard = ({ title }: Props) => {
  const [open, setOpen] = useState(false);
  return <div className="card"><Button onClick={() => setOpen(!open)}>{title}</Button></div>;
};

export default function OrderList(props: { items: string[] }) {
  return <ul>{props.items.map((i) => <li key={i}>{i}</li>)}</ul>;
}
