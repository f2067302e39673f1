package dev.spillway.eviction;

/** A policy that can check its internal structure; tests call it after every operation. */
interface Validated {
    /** @throws IllegalStateException naming the first broken invariant */
    void validate();
}
