//! Capturing a collection's updates for the driver: every update is sent to worker 0 and kept
//! with its time, so a driver can drain one epoch's consolidated changes.

use differential_dataflow::VecCollection;

/// Updates gathered on worker 0: (data, time, diff).
pub type Captured<D> = std::rc::Rc<std::cell::RefCell<Vec<(D, u64, isize)>>>;

/// Gathers every update of `collection` on worker 0 into a store the driver drains; returns
/// the store and the gathered collection (to probe).
pub fn capture<'scope, D>(
    collection: VecCollection<'scope, u64, D>,
) -> (Captured<D>, VecCollection<'scope, u64, D>)
where
    D: differential_dataflow::ExchangeData,
{
    use timely::dataflow::operators::{Exchange, Inspect};
    let store: Captured<D> = Default::default();
    let sink = std::rc::Rc::clone(&store);
    let gathered = collection
        .inner
        .exchange(|_| 0)
        .inspect(move |update: &(D, u64, isize)| sink.borrow_mut().push(update.clone()));
    (store, differential_dataflow::Collection::new(gathered))
}

/// Takes the updates at times up to `epoch` out of `store`, consolidated.
pub fn drain_epoch<D: Ord + Clone>(store: &Captured<D>, epoch: u64) -> Vec<(D, isize)> {
    let mut taken: Vec<(D, isize)> = Vec::new();
    store.borrow_mut().retain(|(d, t, r)| {
        if *t <= epoch {
            taken.push((d.clone(), *r));
            false
        } else {
            true
        }
    });
    differential_dataflow::consolidation::consolidate(&mut taken);
    taken
}
