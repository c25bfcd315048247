// The piscina task of bench/worker-hop.bench.ts: answers a batch the size its frames would be, doing no
// other work, so that the bench measures the hop alone.
export default function hop(task: { packed: Uint8Array }): Uint8Array {
  return new Uint8Array(task.packed.length + 64);
}
