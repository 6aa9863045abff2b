#include "common/thread_pool.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace wk {
namespace {

// A persistent pool: workers are created when a call first needs them and then park on a
// condition variable between calls (after a short spin, so back-to-back calls do not pay a
// wake-up). One call runs at a time; concurrent callers wait for the pool. A call hands out its
// task indices through one atomic counter, so faster cores simply take more tasks.
class Pool {
 public:
  static Pool& Instance() {
    // Never destroyed: parked workers may outlive static destructors at exit.
    static Pool* pool = new Pool();
    return *pool;
  }

  void Run(size_t threads, size_t count, wk_task_fn task, void* data) {
    std::lock_guard<std::mutex> call(call_mutex_);
    const size_t helpers = Grow(std::min(threads, count) - 1);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      task_ = task;
      data_ = data;
      count_ = count;
      next_.store(0, std::memory_order_relaxed);
      participants_ = helpers;
      pending_.store(helpers, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    Work();
    // Wait for the helpers: spin briefly (they finish about when the caller does), then park.
    for (int spin = 0; spin < 1024 && pending_.load(std::memory_order_acquire) != 0; ++spin) {
      std::this_thread::yield();
    }
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return pending_.load(std::memory_order_acquire) == 0; });
  }

 private:
  // Ensures at least `wanted` workers exist; returns how many do (thread creation may fail).
  size_t Grow(size_t wanted) {
    while (workers_.size() < wanted) {
      try {
        // The generation at creation, not at thread start: the job about to be published must
        // not be mistaken for an old one.
        workers_.emplace_back([this, index = workers_.size(),
                               seen = generation_.load(std::memory_order_acquire)] {
          Loop(index, seen);
        });
      } catch (const std::system_error&) {
        break;
      } catch (const std::bad_alloc&) {
        break;
      }
    }
    return std::min(wanted, workers_.size());
  }

  void Work() {
    for (;;) {
      const size_t i = next_.fetch_add(1, std::memory_order_relaxed);
      if (i >= count_) return;
      task_(data_, i);
    }
  }

  void Loop(size_t index, uint64_t seen) {
    for (;;) {
      // Spin a little before parking: a call that follows right after another finds us awake.
      for (int spin = 0; spin < 256 && generation_.load(std::memory_order_acquire) == seen;
           ++spin) {
        std::this_thread::yield();
      }
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        seen = generation_.load(std::memory_order_acquire);
        if (index >= participants_) continue;
      }
      Work();
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_one();
      }
    }
  }

  std::mutex call_mutex_;  // one call at a time
  std::mutex mutex_;       // guards the job fields and the condition variables
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> generation_{0};
  wk_task_fn task_ = nullptr;
  void* data_ = nullptr;
  size_t count_ = 0;
  size_t participants_ = 0;
  std::atomic<size_t> next_{0};
  std::atomic<size_t> pending_{0};
};

}  // namespace

size_t RequestedThreads(const wk_context* ctx) {
  const uint32_t threads = ctx != nullptr ? ctx->threads : 1;
  if (threads != 0) return threads;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return std::min<size_t>(static_cast<size_t>(n), WK_MAX_THREADS);
  }
  return std::max<size_t>(1, std::min<size_t>(std::thread::hardware_concurrency(), WK_MAX_THREADS));
}

void RunTasks(const wk_context* ctx, size_t threads, size_t count, wk_task_fn task, void* data) {
  if (count == 0) return;
  if (ctx != nullptr && ctx->parallel_for != nullptr && count > 1) {
    ctx->parallel_for(ctx->parallel_for_pool, task, data, count);
    return;
  }
  if (threads <= 1 || count == 1) {
    for (size_t i = 0; i < count; ++i) task(data, i);
    return;
  }
  Pool::Instance().Run(threads, count, task, data);
}

}  // namespace wk
