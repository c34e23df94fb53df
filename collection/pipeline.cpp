// The worker thread of the pipeline (collection/pipeline.h).
#include "collection/pipeline.h"

namespace gaze {

PipelineWorker::~PipelineWorker() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    closing_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void PipelineWorker::push(std::function<void()> task) {
  std::unique_lock<std::mutex> lock(mutex_);
  // One slot, no queue to grow: an allocation that lives on between inputs, made while they run,
  // would pin the heap (see the PanelOwners note in tools/cmd_cam.cpp). The worker takes a task
  // as soon as it is idle, so this waits at most for the task before to start.
  wake_.wait(lock, [this] { return !queued_.has_value(); });
  queued_ = std::move(task);
  lock.unlock();
  wake_.notify_all();
}

void PipelineWorker::loop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return closing_ || queued_.has_value(); });
      if (!queued_) return;  // closing, and nothing left to run
      task = std::move(*queued_);
      queued_.reset();
    }
    wake_.notify_all();  // the slot is free
    task();              // a packaged_task: its result or exception goes to its future
  }
}

}  // namespace gaze
