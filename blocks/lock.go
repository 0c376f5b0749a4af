package blocks

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/atomicfile"
)

// LockFileName is the file in an output directory that the run writing
// there holds an exclusive flock on, from before it reads the directory until
// its last block and state are written. A lock on the staging area alone
// came too late: two runs started together both found no staging area, both
// made one, and both wrote every window.
//
// flock, not a pid file or O_EXCL: the kernel drops the lock when its holder
// dies in any way, kill -9 and a power cut included, so a lock left by a
// crash never stands in the next run's way, and no pid is ever mistaken for
// a live holder after it was reused.
const LockFileName = "promrecover.lock"

// holder is what the lock file says of the run holding the lock, so that a
// refused run can name it.
type holder struct {
	PID     int       `json:"pid"`
	Command string    `json:"command,omitempty"`
	Started time.Time `json:"started"`
}

// dirLock is a held lock on an output directory.
type dirLock struct {
	f    *os.File
	path string
}

// lockDir takes the lock on dir, or says who holds it. The file is removed
// again on unlock (under the lock), so a run that got the lock on a file
// another run removed meanwhile tries again on the file now at the path.
func lockDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, LockFileName)
	for {
		// No O_TRUNC: the file may be the holder's, and says who it is.
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return nil, writableError(dir, err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			h := readHolder(f)
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, extract.ParamErrorf("the output directory %s: another promrecover (%s) is writing into it, and holds the lock %s; wait for it to finish or stop it, then run again", dir, h, path)
			}
			return nil, extract.ParamErrorf("the output directory %s: lock %s: %w", dir, path, err)
		}
		if same, err := samePath(f, path); err != nil || !same {
			f.Close()
			if err != nil {
				return nil, extract.ParamErrorf("the output directory %s: lock %s: %w", dir, path, err)
			}
			continue
		}
		if err := writeHolder(f); err != nil {
			return nil, errors.Join(writableError(dir, err), unlock(f, path))
		}
		if err := removeCrashedWrites(dir); err != nil {
			return nil, errors.Join(writableError(dir, err), unlock(f, path))
		}
		return &dirLock{f: f, path: path}, nil
	}
}

// removeCrashedWrites deletes the temporary files of resume state writes
// that a run killed mid-write (kill -9 before the rename) left in dir. Under
// the lock no other run is writing one, and a rerun should leave the
// directory as a run that was never interrupted would.
func removeCrashedWrites(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() && atomicfile.IsTemp(e.Name(), StateFileName) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// samePath says whether f is still the file at path.
func samePath(f *os.File, path string) (bool, error) {
	held, err := f.Stat()
	if err != nil {
		return false, err
	}
	now, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(held, now), nil
}

func writeHolder(f *os.File) error {
	b, err := json.Marshal(holder{PID: os.Getpid(), Command: command(), Started: time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err = f.WriteAt(append(b, '\n'), 0)
	return err
}

// command is the program and its subcommand: never the rest of its
// arguments, which may hold a token, in a file any user can read.
func command() string {
	words := []string{filepath.Base(os.Args[0])}
	if len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-") {
		words = append(words, os.Args[1])
	}
	return strings.Join(words, " ")
}

// readHolder names the run holding the lock on f. The holder writes its
// name just after it took the lock, so an empty file is read again a few
// times before giving up on it.
func readHolder(f *os.File) string {
	for range 20 {
		var h holder
		b, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<16))
		if err == nil && json.Unmarshal(b, &h) == nil && h.PID > 0 {
			s := fmt.Sprintf("pid %d", h.PID)
			if h.Command != "" {
				s += ", " + h.Command
			}
			return s + ", started " + h.Started.Local().Format(time.RFC3339)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return "pid unknown"
}

// unlock removes the lock file while still holding the lock, then drops it.
func unlock(f *os.File, path string) error {
	err := os.Remove(path)
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	return errors.Join(err, f.Close())
}

func (l *dirLock) unlock() error { return unlock(l.f, l.path) }
